"""Matchmaking events (供需对接活动): event pages, registration, the schedule, outcomes."""
