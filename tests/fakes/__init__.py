"""Stand-ins for what cannot run here: Slack's Web API and an Ollama server."""
