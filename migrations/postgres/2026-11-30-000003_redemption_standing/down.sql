DROP FUNCTION redemption_standing(TEXT, TEXT, BIGINT);
