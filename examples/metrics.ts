import { crossSectionalArea, dice, evaluate, hausdorffDistance, rocAuc, type ImageArray } from '@sa-unet/seg-metrics';

/** Scores one predicted probability map against its mask, and a set of them. */
export function scoreNerve(probabilities: ImageArray, truth: ImageArray) {
  return {
    dice: dice(probabilities, truth), // probabilities > 0.5 are the nerve
    hd95: hausdorffDistance(probabilities, truth, { percentile: 95, spacing: [0.17, 0.17], missPenalty: 'diagonal' }), // mm
    auc: rocAuc(probabilities, truth), // exact, ties count half
    areaMm2: crossSectionalArea(probabilities, { dpi: 150 }), // an HM70A image
    summary: evaluate([probabilities], [truth], { missPenalty: 'diagonal' }).summary.dice, // { mean, sd, count, nanCount }
  };
}
