/**
 * The size check of a model built for inputs of any height or width (`inputShape: [null, null,
 * c]`). A U-Net halves the resolution `depth` times and concatenates each decoder level with its
 * skip, so a side that is not a multiple of 2^depth fails deep inside tfjs (`Error in concat4D:
 * Shape of tensors[1] (1,8,12,32) does not match ...`). This layer passes its input through and
 * refuses such a size first, naming it and the nearest valid ones.
 */
import { serialization, type Tensor } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Arguments of {@link InputSizeCheck}, beside those of every layer (`name`: the error starts with it; the zoo's is `${prefix}_size_check`). */
export interface InputSizeCheckArgs extends NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]> {
  /** Height and width must be multiples of this (2^depth). */
  multiple: number;
}

/** The nearest sizes at or around `size` that are multiples of `step`. */
export function nearestValid(size: number, step: number): string {
  const below = Math.floor(size / step) * step;
  const above = below + step;
  return below >= step ? `${below} or ${above}` : `${above}`;
}

/** Passes the input through; throws for a height or width that is not a multiple of `multiple`. */
export class InputSizeCheck extends tfl.layers.Layer {
  /** The name under which the class is registered for (de)serialization: 'SaUnetInputSizeCheck'. */
  static readonly className = 'SaUnetInputSizeCheck';
  /** Height and width must be multiples of this. */
  readonly multiple: number;

  constructor(args: InputSizeCheckArgs) {
    super(args);
    if (!Number.isInteger(args.multiple) || args.multiple < 1) {
      throw new Error(`InputSizeCheck: 'multiple' must be an integer >= 1, got ${JSON.stringify(args.multiple)}`);
    }
    this.multiple = args.multiple;
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const [, height, width] = x.shape;
    const bad = ([['height', height], ['width', width]] as const).filter(([, side]) => side % this.multiple !== 0);
    if (bad.length > 0) {
      throw new Error(`${this.name}: input ${height}x${width} (height x width): ` +
        bad.map(([axis, side]) => `${axis} ${side} is not a multiple of ${this.multiple} (nearest: ${nearestValid(side, this.multiple)})`).join('; ') +
        `; the model halves the resolution ${Math.log2(this.multiple)} times`);
    }
    return x;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override getConfig(): serialization.ConfigDict {
    // Only numbers: tfjs' deserialization camel-cases string values ('sa_unet' comes back 'saUnet').
    return { multiple: this.multiple, ...super.getConfig() };
  }
}
serialization.registerClass(InputSizeCheck);
