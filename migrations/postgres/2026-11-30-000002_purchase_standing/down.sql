DROP FUNCTION purchase_standing(TEXT, TEXT);
