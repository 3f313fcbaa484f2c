/** Argument checks whose messages name the argument and the values it accepts. */

export function checkPositiveInteger(value: unknown, argName: string, layerName: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`${layerName}: '${argName}' must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkOddInteger(value: unknown, argName: string, layerName: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value % 2 === 0) {
    throw new Error(`${layerName}: '${argName}' must be an odd integer >= 1 (1, 3, 5, ...), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks the [batch, height, width, channels] shape a 2-D image layer receives. */
export function checkImageShape(shape: ReadonlyArray<number | null>, layerName: string): number {
  if (shape.length !== 4) {
    throw new Error(
      `${layerName}: expected a 4-D input [batch, height, width, channels] (channels last), got shape ${formatShape(shape)}`,
    );
  }
  const channels = shape[3];
  if (channels === null || channels === undefined || channels < 1) {
    throw new Error(`${layerName}: the channel dimension of the input must be known, got shape ${formatShape(shape)}`);
  }
  return channels;
}

/** A float32 input: the convolutions take no other dtype, and tfjs' own message would not name the layer. */
export function checkFloatInput(x: { dtype: string }, layerName: string): void {
  if (x.dtype !== 'float32') {
    throw new Error(`${layerName}: expected a float32 input, got ${x.dtype}; cast it first (tf.cast(x, 'float32'))`);
  }
}

export function formatShape(shape: ReadonlyArray<number | null>): string {
  return `[${shape.map((d) => (d === null ? 'null' : String(d))).join(', ')}]`;
}
