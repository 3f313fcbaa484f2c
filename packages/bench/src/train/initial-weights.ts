/** `train --init`: start from a saved model's weights instead of a seeded initialisation (fine-tuning). */
import type * as tfl from '@tensorflow/tfjs-layers';

const shapeText = (shape: readonly (number | null)[]) => `[${shape.join(', ')}]`;

/**
 * Gives `target` the weights of `source` (a saved model, `from` names it in errors), after checking
 * that the two have the same weights in the same order: the zoo names every layer, so a model of
 * another architecture differs in a weight's name, and one of another base width in a shape.
 * The input size may differ: every zoo model is fully convolutional.
 */
export function copyWeights(source: tfl.LayersModel, target: tfl.LayersModel, from: string): void {
  const there = source.weights;
  const here = target.weights;
  const count = Math.max(there.length, here.length);
  for (let i = 0; i < count; i++) {
    const a = there[i];
    const b = here[i];
    if (a?.originalName !== b?.originalName) {
      const name = (w: typeof a) => (w === undefined ? 'absent' : JSON.stringify(w.originalName));
      throw new Error(`${from} is not a model of this architecture: its weight ${i + 1} of ${there.length} is ${name(a)}, `
        + `the new model's (${here.length} weights) is ${name(b)}; give the --model it was trained as`);
    }
    if (shapeText(a.shape) !== shapeText(b.shape)) {
      throw new Error(`${from}: weight ${JSON.stringify(a.originalName)} has shape ${shapeText(a.shape)} there, ${shapeText(b.shape)} in the new model; `
        + 'give the --base-filters it was trained with');
    }
  }
  target.setWeights(source.getWeights());
}
