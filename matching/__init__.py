"""The marketplace's recommender: Chinese text, structured signals and supply chains.

A plain library: it takes plain records and returns ranked ids with scores and reasons.
It never imports Flask, SQLAlchemy or ``marketplace``.
"""
