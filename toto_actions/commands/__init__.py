"""One module per subcommand; each orchestrates its command from typed settings."""
