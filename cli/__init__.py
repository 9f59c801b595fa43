"""The `qa` command, at the top: it may import every layer (index, qa, api); none of them imports it."""
