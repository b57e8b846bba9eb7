-- The model whose price was used for a row whose own model is not in the
-- price table (an estimate); NULL when the price is the model's own.
ALTER TABLE requests ADD COLUMN priced_as TEXT;
