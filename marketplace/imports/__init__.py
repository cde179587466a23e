"""Demand-list imports (需求清单导入) by officials: upload, batch history, reports, template."""
