"""Built-in scenario files (package marker only: the scenarios are the TOML files beside it)."""
