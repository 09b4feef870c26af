"""Click commands only: parse options, build a config, call the library, print."""
