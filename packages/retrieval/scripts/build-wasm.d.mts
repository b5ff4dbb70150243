/** Compiles scan.wat with wabt; resolves to the module bytes as base64. */
export function compileScanWat(): Promise<string>;
/** The text of scanWasm.ts for those bytes. */
export function renderTs(b64: string): string;
