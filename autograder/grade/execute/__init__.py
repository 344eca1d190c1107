"""Execute: nbgrader autogrades the rebuilt notebooks in the sandboxed kernel."""
