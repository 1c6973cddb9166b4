"""LSP features; each module registers its handlers on a `TeamkbServer` via `register`."""
