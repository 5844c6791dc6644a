DROP TABLE console_preferences;
DROP TABLE console_sessions;
