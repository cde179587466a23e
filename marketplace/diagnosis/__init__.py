"""Self-diagnosis pages: questionnaire, result with the free plan, history, officials' view."""
