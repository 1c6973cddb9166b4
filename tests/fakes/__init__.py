"""Stand-ins for what cannot run here: Slack's Web API, an Ollama server, and a tiny
Llama to retrain in seconds (`tiny`)."""
