DROP TABLE item_vectors;
