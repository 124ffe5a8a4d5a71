"""The Affectline service: HTTP job API, job store, workers, webhooks and the web page."""
