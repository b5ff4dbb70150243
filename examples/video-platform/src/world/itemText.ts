import type { WorldData } from './WorldData.js';

// Word lists for synthetic titles and tags. A category has a name; its items' titles combine a
// category word, a topic word chosen from the item's content vector and a style word.
const CATEGORY_NAMES = [
  'music',
  'gaming',
  'news',
  'cooking',
  'travel',
  'science',
  'comedy',
  'sports',
  'fitness',
  'fashion',
  'tech',
  'history',
  'nature',
  'cars',
  'diy',
  'finance',
  'art',
  'film',
  'pets',
  'education',
];
const TOPIC_WORDS = [
  'live',
  'guide',
  'review',
  'tutorial',
  'highlights',
  'story',
  'challenge',
  'tips',
  'explained',
  'vlog',
  'interview',
  'basics',
  'secrets',
  'deep dive',
  'reaction',
  'compilation',
  'behind the scenes',
  'top 10',
  'ranking',
  'journey',
  'mistakes',
  'hacks',
  'essentials',
  'masterclass',
  'routine',
  'experiment',
  'debate',
  'recap',
  'unboxing',
  'setup',
  'classics',
  'trends',
];
const STYLE_WORDS = ['quick', 'ultimate', 'honest', 'relaxing', 'epic', 'simple', 'advanced', 'daily'];

/** The searchable text of an item: a title and tags (the query source indexes them). */
export interface ItemText {
  readonly title: string;
  readonly tags: readonly string[];
}

/**
 * A deterministic title and tags for item `i`, derived only from observable catalog columns
 * (category, language, creator, content embedding), so search relevance follows content: the
 * topic word is the content vector's largest dimension (positive and negative dimensions map to
 * different words), the category word is the category's name.
 *
 * @example
 * ```ts
 * itemText(data, 7); // { title: 'honest cooking tips', tags: ['cooking', 'tips', 'l0', 'c12'] }
 * ```
 */
export function itemText(data: WorldData, i: number): ItemText {
  const D = data.dim;
  let best = 0;
  let bestV = -Infinity;
  let second = 0;
  let secondV = -Infinity;
  for (let d = 0; d < D; d++) {
    const v = data.itemContent[i * D + d] as number;
    for (const [slot, val] of [
      [2 * d, v],
      [2 * d + 1, -v],
    ] as const) {
      if (val > bestV) {
        second = best;
        secondV = bestV;
        best = slot;
        bestV = val;
      } else if (val > secondV) {
        second = slot;
        secondV = val;
      }
    }
  }
  const cat = data.itemCategory[i] as number;
  const catName = CATEGORY_NAMES[cat % CATEGORY_NAMES.length] ?? `k${cat}`;
  const topic = TOPIC_WORDS[best % TOPIC_WORDS.length] as string;
  const topic2 = TOPIC_WORDS[second % TOPIC_WORDS.length] as string;
  const style = STYLE_WORDS[((i * 2654435761) % STYLE_WORDS.length) >>> 0] ?? 'quick';
  return {
    title: `${style} ${catName} ${topic}`,
    tags: [catName, topic, topic2, data.languageNames[data.itemLanguage[i] as number] as string, `c${data.itemCreator[i] as number}`],
  };
}
