/**
 * Container names: moby's namesgenerator (`adjective_surname`) and the container-name rule.
 */
import { randomInt } from 'node:crypto';
import { invalidParameter } from '../errdefs/index.ts';

/** moby pkg/namesgenerator `left`. */
export const ADJECTIVES: readonly string[] = Object.freeze([
  'admiring', 'adoring', 'affectionate', 'agitated', 'amazing', 'angry', 'awesome', 'beautiful', 'blissful', 'bold',
  'boring', 'brave', 'busy', 'charming', 'clever', 'compassionate', 'competent', 'condescending', 'confident', 'cool',
  'cranky', 'crazy', 'dazzling', 'determined', 'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated',
  'elegant', 'eloquent', 'epic', 'exciting', 'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty',
  'funny', 'gallant', 'gifted', 'goofy', 'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful',
  'hungry', 'infallible', 'inspiring', 'intelligent', 'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing',
  'loving', 'lucid', 'magical', 'modest', 'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty',
  'nostalgic', 'objective', 'optimistic', 'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical',
  'recursing', 'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic',
  'strange', 'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty', 'trusting', 'unruffled', 'upbeat', 'vibrant',
  'vigilant', 'vigorous', 'wizardly', 'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
]);

/** moby pkg/namesgenerator `right`: notable scientists and hackers. */
export const SURNAMES: readonly string[] = Object.freeze([
  'agnesi', 'albattani', 'allen', 'almeida', 'antonelli', 'archimedes', 'ardinghelli', 'aryabhata', 'austin', 'babbage',
  'banach', 'banzai', 'bardeen', 'bartik', 'bassi', 'beaver', 'bell', 'benz', 'bhabha', 'bhaskara',
  'black', 'blackburn', 'blackwell', 'bohr', 'booth', 'borg', 'bose', 'bouman', 'boyd', 'brahmagupta',
  'brattain', 'brown', 'buck', 'burnell', 'cannon', 'carson', 'cartwright', 'carver', 'cauchy', 'cerf',
  'chandrasekhar', 'chaplygin', 'chatelet', 'chatterjee', 'chaum', 'chebyshev', 'clarke', 'cohen', 'colden', 'cori',
  'cray', 'curie', 'curran', 'darwin', 'davinci', 'dewdney', 'dhawan', 'diffie', 'dijkstra', 'dirac',
  'driscoll', 'dubinsky', 'easley', 'edison', 'einstein', 'elbakyan', 'elgamal', 'elion', 'ellis', 'engelbart',
  'euclid', 'euler', 'faraday', 'feistel', 'fermat', 'fermi', 'feynman', 'franklin', 'gagarin', 'galileo',
  'galois', 'ganguly', 'gates', 'gauss', 'germain', 'goldberg', 'goldstine', 'goldwasser', 'golick', 'goodall',
  'gould', 'greider', 'grothendieck', 'haibt', 'hamilton', 'hardy', 'haslett', 'hawking', 'heisenberg', 'hellman',
  'hermann', 'herschel', 'hertz', 'heyrovsky', 'hodgkin', 'hofstadter', 'hoover', 'hopper', 'hugle', 'hypatia',
  'ishizaka', 'jackson', 'jang', 'jemison', 'jennings', 'jepsen', 'johnson', 'joliot', 'jones', 'kalam',
  'kapitsa', 'kare', 'keldysh', 'keller', 'kepler', 'khayyam', 'khorana', 'kilby', 'kirch', 'knuth',
  'kowalevski', 'lalande', 'lamarr', 'lamport', 'leakey', 'leavitt', 'lederberg', 'lehmann', 'lewin', 'lichterman',
  'liskov', 'lovelace', 'lumiere', 'mahavira', 'margulis', 'matsumoto', 'maxwell', 'mayer', 'mccarthy', 'mcclintock',
  'mclaren', 'mclean', 'mcnulty', 'meitner', 'mendel', 'mendeleev', 'meninsky', 'merkle', 'mestorf', 'mirzakhani',
  'montalcini', 'moore', 'morse', 'moser', 'murdock', 'napier', 'nash', 'neumann', 'newton', 'nightingale',
  'nobel', 'noether', 'northcutt', 'noyce', 'panini', 'pare', 'pascal', 'pasteur', 'payne', 'perlman',
  'pike', 'poincare', 'poitras', 'proskuriakova', 'ptolemy', 'raman', 'ramanujan', 'rhodes', 'ride', 'riemann',
  'ritchie', 'robinson', 'roentgen', 'rosalind', 'rubin', 'saha', 'sammet', 'sanderson', 'satoshi', 'shamir',
  'shannon', 'shaw', 'shirley', 'shockley', 'shtern', 'sinoussi', 'snyder', 'solomon', 'spence', 'stonebraker',
  'sutherland', 'swanson', 'swartz', 'swirles', 'taussig', 'tesla', 'tharp', 'thompson', 'torvalds', 'tu',
  'turing', 'varahamihira', 'vaughan', 'vaughn', 'villani', 'visvesvaraya', 'volhard', 'wescoff', 'weierstrass', 'wilbur',
  'wiles', 'williams', 'williamson', 'wilson', 'wing', 'wozniak', 'wright', 'wu', 'yalow', 'yonath',
  'zhukovsky',
]);

/**
 * namesgenerator.GetRandomName: `adjective_surname`, never `boring_wozniak` ("Steve Wozniak is
 * not boring"); when `retry > 0` a random digit 0-9 is appended.
 */
export function generateName(retry: number): string {
  let name: string;
  do {
    name = ADJECTIVES[randomInt(ADJECTIVES.length)] + '_' + SURNAMES[randomInt(SURNAMES.length)];
  } while (name === 'boring_wozniak');
  if (retry > 0) name += String(randomInt(10));
  return name;
}

/** moby `RestrictedNameChars` / `RestrictedNamePattern`. */
export const RESTRICTED_NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const RESTRICTED_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** True when `s` (with or without one leading `/`) is a valid container name. Needs ≥ 2 characters. */
export function isValidContainerName(s: string): boolean {
  return RESTRICTED_NAME_RE.test(s.startsWith('/') ? s.slice(1) : s);
}

/**
 * The daemon's `validateName`: returns the name in its stored form (with a leading `/`), or throws
 * InvalidParameter `Invalid container name (<as given>), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`.
 */
export function validContainerName(s: string): string {
  if (!isValidContainerName(s)) {
    throw invalidParameter(`Invalid container name (${s}), only ${RESTRICTED_NAME_CHARS} are allowed`);
  }
  return s.startsWith('/') ? s : '/' + s;
}
