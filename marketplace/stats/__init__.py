"""Region statistics for officials: the dashboard, its exports and the annual report."""
