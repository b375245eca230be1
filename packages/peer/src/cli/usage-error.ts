/** A command-line mistake: printed with the usage text that explains it, exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The usage text to print with it: the command's own, or the overview. */
    readonly usage: string,
  ) {
    super(message);
  }
}
