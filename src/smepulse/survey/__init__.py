"""Survey responses: reading users' files and validating them against a methodology."""
