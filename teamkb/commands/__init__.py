"""One module per `teamkb` subcommand."""
