DROP TABLE recovery_cases;
DROP TABLE feedback_responses;
DROP TABLE survey_invitations;
DROP TABLE surveys;
