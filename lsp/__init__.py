"""teamkb's language server: cited answers from the team's docs inside the editor."""
