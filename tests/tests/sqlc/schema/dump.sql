--
-- PostgreSQL database dump
--

\restrict R1q9u43xj6NKYCLh5KGLYuOfY68cy6i61XQl4KXqSWeFO98msuK2pxHoiGa9p4d

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: book_genre; Type: TYPE; Schema: public; Owner: postgres
--

CREATE TYPE public.book_genre AS ENUM (
    'fiction',
    'nonfiction',
    'poetry'
);


ALTER TYPE public.book_genre OWNER TO postgres;

--
-- Name: say_hello(text); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.say_hello(s text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
  RETURN 'hello, ' || s;
END;
$$;


ALTER FUNCTION public.say_hello(s text) OWNER TO postgres;

--
-- Name: author_book_counts; Type: VIEW; Schema: public; Owner: postgres
--

CREATE VIEW public.author_book_counts AS
SELECT
    NULL::bigint AS id,
    NULL::text AS name,
    NULL::bigint AS books;


ALTER TABLE public.author_book_counts OWNER TO postgres;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: authors; Type: TABLE; Schema: public; Owner: bookstore_app
--

CREATE TABLE public.authors (
    id bigint NOT NULL,
    name text NOT NULL,
    bio text,
    spotify_url text
);


ALTER TABLE public.authors OWNER TO bookstore_app;

--
-- Name: TABLE authors; Type: COMMENT; Schema: public; Owner: bookstore_app
--

COMMENT ON TABLE public.authors IS 'People who write books (and review them).';


--
-- Name: authors_id_seq; Type: SEQUENCE; Schema: public; Owner: bookstore_app
--

CREATE SEQUENCE public.authors_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.authors_id_seq OWNER TO bookstore_app;

--
-- Name: authors_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: bookstore_app
--

ALTER SEQUENCE public.authors_id_seq OWNED BY public.authors.id;


--
-- Name: books; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.books (
    book_id integer NOT NULL,
    author_id bigint NOT NULL,
    isbn text NOT NULL,
    genre public.book_genre DEFAULT 'fiction'::public.book_genre NOT NULL,
    title text NOT NULL,
    year integer NOT NULL,
    price numeric(8,2),
    available timestamp with time zone DEFAULT now() NOT NULL,
    tags text[] DEFAULT '{}'::text[] NOT NULL
);


ALTER TABLE public.books OWNER TO postgres;

--
-- Name: books_book_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.books_book_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.books_book_id_seq OWNER TO postgres;

--
-- Name: books_book_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: postgres
--

ALTER SEQUENCE public.books_book_id_seq OWNED BY public.books.book_id;


--
-- Name: reviews; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.reviews (
    id bigint NOT NULL,
    book_id integer NOT NULL,
    reviewer_id bigint,
    stars smallint NOT NULL,
    body text,
    CONSTRAINT reviews_stars_check CHECK (((stars >= 1) AND (stars <= 5)))
);


ALTER TABLE public.reviews OWNER TO postgres;

--
-- Name: reviews_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.reviews_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.reviews_id_seq OWNER TO postgres;

--
-- Name: reviews_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: postgres
--

ALTER SEQUENCE public.reviews_id_seq OWNED BY public.reviews.id;


--
-- Name: authors id; Type: DEFAULT; Schema: public; Owner: bookstore_app
--

ALTER TABLE ONLY public.authors ALTER COLUMN id SET DEFAULT nextval('public.authors_id_seq'::regclass);


--
-- Name: books book_id; Type: DEFAULT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.books ALTER COLUMN book_id SET DEFAULT nextval('public.books_book_id_seq'::regclass);


--
-- Name: reviews id; Type: DEFAULT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.reviews ALTER COLUMN id SET DEFAULT nextval('public.reviews_id_seq'::regclass);


--
-- Name: authors authors_pkey; Type: CONSTRAINT; Schema: public; Owner: bookstore_app
--

ALTER TABLE ONLY public.authors
    ADD CONSTRAINT authors_pkey PRIMARY KEY (id);


--
-- Name: books books_isbn_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.books
    ADD CONSTRAINT books_isbn_key UNIQUE (isbn);


--
-- Name: books books_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.books
    ADD CONSTRAINT books_pkey PRIMARY KEY (book_id);


--
-- Name: reviews reviews_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.reviews
    ADD CONSTRAINT reviews_pkey PRIMARY KEY (id);


--
-- Name: books_author_id_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX books_author_id_idx ON public.books USING btree (author_id);


--
-- Name: books_title_year_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX books_title_year_idx ON public.books USING btree (title, year);


--
-- Name: reviews_book_id_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX reviews_book_id_idx ON public.reviews USING btree (book_id);


--
-- Name: reviews_reviewer_id_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX reviews_reviewer_id_idx ON public.reviews USING btree (reviewer_id);


--
-- Name: author_book_counts _RETURN; Type: RULE; Schema: public; Owner: postgres
--

CREATE OR REPLACE VIEW public.author_book_counts AS
 SELECT a.id,
    a.name,
    count(b.book_id) AS books
   FROM (public.authors a
     LEFT JOIN public.books b ON ((b.author_id = a.id)))
  GROUP BY a.id;


--
-- Name: books books_author_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.books
    ADD CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES public.authors(id);


--
-- Name: reviews reviews_book_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.reviews
    ADD CONSTRAINT reviews_book_id_fkey FOREIGN KEY (book_id) REFERENCES public.books(book_id) ON DELETE CASCADE;


--
-- Name: reviews reviews_reviewer_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.reviews
    ADD CONSTRAINT reviews_reviewer_id_fkey FOREIGN KEY (reviewer_id) REFERENCES public.authors(id);


--
-- Name: TABLE books; Type: ACL; Schema: public; Owner: postgres
--

GRANT SELECT,INSERT ON TABLE public.books TO bookstore_app;


--
-- PostgreSQL database dump complete
--

\unrestrict R1q9u43xj6NKYCLh5KGLYuOfY68cy6i61XQl4KXqSWeFO98msuK2pxHoiGa9p4d

