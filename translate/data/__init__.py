"""Image listing, safe decoding, datasets and transforms."""
