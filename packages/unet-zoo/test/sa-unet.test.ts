import { describeModel } from './model-tester.js';

describeModel('sa-unet');
