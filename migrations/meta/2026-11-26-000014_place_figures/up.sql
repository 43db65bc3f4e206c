-- The figures of the Locations page and the dashboard (items, pieces, retail value per currency)
-- kept per user, place and currency by triggers, so those pages read a few rows per place instead
-- of every item the user has. location_key is the place's id, or 0 for items with no place.
CREATE TABLE user_place_figures (
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    location_key BIGINT  NOT NULL,
    currency     TEXT    NOT NULL,
    items        BIGINT  NOT NULL DEFAULT 0,
    quantity     BIGINT  NOT NULL DEFAULT 0,
    -- how many of the items have a retail price; value is Σ retail_price × quantity over them
    priced       BIGINT  NOT NULL DEFAULT 0,
    value        NUMERIC NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, location_key, currency)
);

CREATE FUNCTION inventory_place_figures_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE user_place_figures
           SET items = items - 1,
               quantity = quantity - OLD.quantity,
               priced = priced - (OLD.retail_price IS NOT NULL)::int,
               value = value - COALESCE(OLD.retail_price * OLD.quantity, 0)
         WHERE user_id = OLD.user_id AND location_key = COALESCE(OLD.location_id, 0) AND currency = OLD.currency;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO user_place_figures AS f (user_id, location_key, currency, items, quantity, priced, value)
        VALUES (NEW.user_id, COALESCE(NEW.location_id, 0), NEW.currency, 1, NEW.quantity,
                (NEW.retail_price IS NOT NULL)::int, COALESCE(NEW.retail_price * NEW.quantity, 0))
        ON CONFLICT (user_id, location_key, currency) DO UPDATE
           SET items = f.items + 1,
               quantity = f.quantity + EXCLUDED.quantity,
               priced = f.priced + EXCLUDED.priced,
               value = f.value + EXCLUDED.value;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER user_inventory_place_figures AFTER INSERT OR DELETE ON user_inventory
    FOR EACH ROW EXECUTE FUNCTION inventory_place_figures_track();
CREATE TRIGGER user_inventory_place_figures_update
    AFTER UPDATE OF location_id, currency, quantity, retail_price ON user_inventory
    FOR EACH ROW
    WHEN ((OLD.location_id, OLD.currency, OLD.quantity, OLD.retail_price)
          IS DISTINCT FROM (NEW.location_id, NEW.currency, NEW.quantity, NEW.retail_price))
    EXECUTE FUNCTION inventory_place_figures_track();

INSERT INTO user_place_figures (user_id, location_key, currency, items, quantity, priced, value)
SELECT user_id, COALESCE(location_id, 0), currency, count(*), sum(quantity), count(retail_price),
       COALESCE(sum(retail_price * quantity), 0)
  FROM user_inventory GROUP BY 1, 2, 3;
