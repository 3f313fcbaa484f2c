import { describeModel } from './model-tester.js';

describeModel('multires-unet');
