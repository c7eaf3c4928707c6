"""Publishing: vintages (what was published when), revisions, flash estimates; later the written release."""
