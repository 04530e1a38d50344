ALTER TABLE "search_suggestions" ADD COLUMN "label_norm" text DEFAULT '' NOT NULL;--> statement-breakpoint
UPDATE search_suggestions SET label_norm = array_to_string(array_remove(regexp_split_to_array(search_norm(label), '[^[:alnum:]]+'), ''), ' ');
