"""Analysis of run directories (figures, correlations, reports)."""
