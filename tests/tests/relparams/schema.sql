CREATE TABLE books (
    id bigserial PRIMARY KEY,
    title text NOT NULL
);
CREATE TABLE reviews (
    id bigserial PRIMARY KEY,
    book_id bigint NOT NULL REFERENCES books (id),
    approved boolean NOT NULL,
    created_at date NOT NULL,
    body text NOT NULL
);
CREATE TABLE votes (
    id bigserial PRIMARY KEY,
    review_id bigint NOT NULL REFERENCES reviews (id),
    cast_on date NOT NULL
);
