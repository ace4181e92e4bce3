/** OpenAI holds at most this many uploaded certificates per organization, active or not. */
export const CERTIFICATE_CAP = 50
/** The most ids one activate or deactivate call takes. */
export const ACTIVATION_BATCH = 10
