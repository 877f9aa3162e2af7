"""The `lightsms-pipeline` command and what it checks."""
