"""The API's logic: every Cypher statement and every driver call lives here; routes stay thin."""
