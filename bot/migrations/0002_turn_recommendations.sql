-- The recommendations exactly as shown (title, year, genres, explanation, source, score, evidence), so a
-- UI can rebuild a conversation from the record without re-joining candidates and explanations.
ALTER TABLE turns ADD COLUMN recommendations TEXT NOT NULL DEFAULT '[]';
