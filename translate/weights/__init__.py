"""Everything about model files, beside their data: self-describing files, the manifest (manifest.toml),
resolving --model, fetching, importers and converters of foreign checkpoints, and the small bundled files."""
