// Scaffolding: replaced by the command's real implementation.
import { KeywardError } from '../errors.js';

export async function run(_argv: string[]): Promise<number> {
  throw new KeywardError('KW_USAGE', "'keyward tokens' is not built yet");
}
