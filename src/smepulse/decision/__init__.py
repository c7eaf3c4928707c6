"""Lending decisions: application, policy rules (zen-engine decision tables), limits, pricing,
programme tags, feature snapshots and the hash-chained audit (docs/decisions.md)."""
