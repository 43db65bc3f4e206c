DROP FUNCTION bartleby_signed_in_row(JSONB);
