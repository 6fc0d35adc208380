"""Where partner definitions come from: files now, a database possibly later."""
