/** A GatherNd gradient with a repeated coordinate, shared by the cpu/wasm and webgpu tests. */
import * as tf from '@tensorflow/tfjs-core';

/** Picks rows (2-D coordinates into a [3, 4, 2] tensor), one of them twice, weighted 1, 2, 3, 4. */
const COORDINATES = [[0, 1], [2, 3], [0, 1], [1, 0]];

/** The gradient of sum(gatherND(x, coordinates) * w), w = [[1, 1], [2, 2], [3, 3], [4, 4]]. */
export function gatherNdGradient(): tf.Tensor {
  const indices = tf.tensor2d(COORDINATES, [4, 2], 'int32');
  const w = tf.tensor2d([1, 1, 2, 2, 3, 3, 4, 4], [4, 2]);
  return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.gatherND(x, indices), w)))(tf.ones([3, 4, 2]));
}

/** Its value: each weight at its coordinate's row, the repeated one's two weights summed. */
export const GATHER_ND_CASE = {
  shape: [3, 4, 2],
  expected: (() => {
    const g = new Array<number>(24).fill(0);
    COORDINATES.forEach(([i, j], k) => {
      for (const c of [0, 1]) g[(i! * 4 + j!) * 2 + c] += k + 1;
    });
    return g;
  })(),
};
