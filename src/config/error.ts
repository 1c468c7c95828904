/** An invalid setting: the message names it, what is allowed and what was given (main prints it, exits 2). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
