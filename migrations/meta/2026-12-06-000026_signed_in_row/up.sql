-- The account a session names, as one JSON value, read with the session in the same statement
-- (platform::session_store): a function, so that statement is prepared once per connection
-- (diesel does not keep a statement with raw SQL in it; the inline version was parsed and
-- planned on every page).
CREATE FUNCTION bartleby_signed_in_row(session_data JSONB) RETURNS JSONB LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', u.id, 'email', u.email, 'display_name', u.display_name,
                              'created_at', floor(extract(epoch FROM u.created_at))::BIGINT,
                              'is_admin', u.is_admin)
      FROM users u
     WHERE u.id = CASE WHEN jsonb_typeof(session_data -> 'user_id') = 'number'
                       THEN (session_data ->> 'user_id')::BIGINT END
$$;
