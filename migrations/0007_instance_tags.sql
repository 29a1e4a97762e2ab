-- Each gateway process takes a tag from this sequence when it starts; transaction ids
-- carry it, so that two instances of one deployment never mint the same id (a random
-- tag could collide, and a clash surfaced as a "duplicate reference").
CREATE SEQUENCE instance_tags;
