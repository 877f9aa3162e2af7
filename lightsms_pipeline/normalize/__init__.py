"""Raw LightSMS answers to the typed `incoming_messages` table: dates, order, E.164, hashing. Pure."""
